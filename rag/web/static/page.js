() => {
  if (window.__ragPage) return;
  window.__ragPage = true;
  const style = document.createElement('style');
  style.id = 'rag-style';
  style.textContent = __CSS__;
  document.head.appendChild(style);
  const copy = async (text) => {
    window.ragLastCopied = text;
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      const area = document.createElement('textarea');
      area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      const ok = document.execCommand('copy'); area.remove(); return ok;
    }
  };
  // A citation's source: the element with its anchor id (a card, or a marker inside one).
  const source = (id) => {
    const el = document.getElementById(id);
    const card = el && el.closest('.rag-card');
    if (!card) return null;
    const from = el.dataset.start ? el : card;
    return {card, doc: card.dataset.doc, paragraph: Number(card.dataset.paragraph),
            start: Number(from.dataset.start), end: Number(from.dataset.end)};
  };
  const show = (card) => {
    const turn = card.closest('details.rag-turn');
    if (turn) turn.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.remove('rag-flash'); void card.offsetWidth; card.classList.add('rag-flash');
  };
  // Preview on hover or keyboard focus: the cited sentence in its paragraph.
  const preview = document.createElement('div');
  preview.id = 'rag-preview'; preview.setAttribute('role', 'tooltip'); preview.hidden = true;
  document.body.appendChild(preview);
  const chipOf = (ev) => (ev.target instanceof Element ? ev.target.closest('a.rag-cite') : null);
  const showPreview = (chip) => {
    const src = source(chip.getAttribute('href').slice(1));
    if (!src) return;
    preview.innerHTML = '';
    for (const part of ['.rag-card-head', '.rag-para']) {
      const node = src.card.querySelector(part);
      if (node) preview.appendChild(node.cloneNode(true));
    }
    preview.querySelectorAll('button, details').forEach((n) => n.remove());
    preview.hidden = false;
    const box = chip.getBoundingClientRect();
    const width = Math.min(420, window.innerWidth - 16);
    preview.style.width = width + 'px';
    preview.style.left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8)) + 'px';
    const below = box.bottom + 6, height = preview.offsetHeight;
    preview.style.top = (below + height < window.innerHeight ? below : Math.max(8, box.top - height - 6)) + 'px';
  };
  const hidePreview = () => { preview.hidden = true; };
  document.addEventListener('mouseover', (ev) => {
    const c = chipOf(ev);
    if (c) showPreview(c);
    else if (!(ev.target instanceof Element && ev.target.closest('#rag-preview'))) hidePreview();
  });
  document.addEventListener('mouseout', (ev) => { if (chipOf(ev)) hidePreview(); });
  document.addEventListener('focusin', (ev) => { const c = chipOf(ev); if (c) showPreview(c); });
  document.addEventListener('focusout', (ev) => { if (chipOf(ev)) hidePreview(); });
  // The whole article, opened at the cited paragraph, over the page; Back returns to the chip.
  let openedFrom = null;
  const openArticle = (src, from) => {
    const box = document.querySelector('#rag-open-req textarea, #rag-open-req input');
    if (!box) return;
    openedFrom = from;
    hidePreview();
    document.body.classList.add('rag-reading');
    const want = {doc: src.doc, paragraph: src.paragraph, start: src.start, end: src.end, at: Date.now()};
    box.value = JSON.stringify(want);
    box.dispatchEvent(new Event('input', {bubbles: true}));
    const began = Date.now();
    const wait = setInterval(() => {
      const article = document.querySelector('#rag-article .rag-article');
      const hit = article && article.dataset.doc === src.doc
        && Number(article.dataset.paragraph) === src.paragraph
        && article.querySelector('.rag-art-hit');
      if (hit) {
        clearInterval(wait);
        hit.scrollIntoView({block: 'center'});
        const back = article.querySelector('button.rag-back');
        if (back) back.focus({preventScroll: true});
      } else if (Date.now() - began > 15000) clearInterval(wait);
    }, 50);
  };
  const closeArticle = () => {
    document.body.classList.remove('rag-reading');
    if (openedFrom && openedFrom.isConnected) {
      openedFrom.scrollIntoView({block: 'center'});
      openedFrom.focus({preventScroll: true});
    }
  };
  document.addEventListener('keydown', (ev) => {
    if (ev.key !== 'Escape') return;
    hidePreview();
    if (document.body.classList.contains('rag-reading')) closeArticle();
  });
  // The chat's own Copy button copies the answer as plain text with [n] markers and its sources.
  const messageOf = (button) => {
    for (let node = button.parentElement; node && node.id !== 'rag-chat'; node = node.parentElement) {
      const found = node.querySelectorAll('[data-testid=bot], [data-testid=user]');
      if (found.length) return found[found.length - 1];
    }
    return null;
  };
  const plainOf = (message) => {
    const chip = message.querySelector('a.rag-cite');
    const turn = chip && document.getElementById('turn-' + chip.getAttribute('href').split('-')[1]);
    if (turn && turn.dataset.plain) return turn.dataset.plain;
    return (message.querySelector('.message-content') || message).innerText.trim();
  };
  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    if (!target) return;
    const chip = target.closest('a[href^="#src-"]');
    if (chip) {
      ev.preventDefault(); ev.stopPropagation();
      const src = source(chip.getAttribute('href').slice(1));
      if (src) { show(src.card); openArticle(src, chip); }
      return;
    }
    const open = target.closest('button.rag-open');
    if (open) {
      const card = open.closest('.rag-card');
      openArticle({doc: card.dataset.doc, paragraph: Number(card.dataset.paragraph),
                   start: Number(card.dataset.start), end: Number(card.dataset.end)}, open);
      return;
    }
    if (target.closest('button.rag-back')) { ev.preventDefault(); closeArticle(); return; }
    const chatCopy = target.closest('#rag-chat button[aria-label="Copy message"]');
    if (chatCopy) {
      const message = messageOf(chatCopy);
      if (!message) return;
      ev.preventDefault(); ev.stopPropagation();
      copy(plainOf(message)).then(() => {
        chatCopy.classList.add('rag-copied'); chatCopy.title = 'Copied';
        setTimeout(() => { chatCopy.classList.remove('rag-copied'); chatCopy.title = 'Copy message'; }, 1800);
      });
      return;
    }
    const button = target.closest('button.rag-copy');
    if (button) {
      ev.preventDefault();
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      copy(button.dataset.copy).then((ok) => {
        button.textContent = ok ? 'Copied \u2713' : 'Select and copy below';
        button.classList.add('rag-copied');
        setTimeout(() => { button.textContent = label; button.classList.remove('rag-copied'); }, 1800);
      });
    }
  }, true);
}
