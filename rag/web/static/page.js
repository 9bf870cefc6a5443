() => {
  if (window.__ragPage) return;
  window.__ragPage = true;
  const style = document.createElement('style');
  style.id = 'rag-style';
  style.textContent = __CSS__;
  document.head.appendChild(style);
  const copy = async (text) => {
    try { await navigator.clipboard.writeText(text); return true; } catch (e) {
      const area = document.createElement('textarea');
      area.value = text; area.style.position = 'fixed'; area.style.opacity = '0';
      document.body.appendChild(area); area.select();
      const ok = document.execCommand('copy'); area.remove(); return ok;
    }
  };
  const show = (id) => {
    const card = document.getElementById(id);
    if (!card) return;
    const turn = card.closest('details.rag-turn');
    if (turn) turn.open = true;
    card.scrollIntoView({behavior: 'smooth', block: 'center'});
    card.classList.remove('rag-flash'); void card.offsetWidth; card.classList.add('rag-flash');
  };
  document.addEventListener('click', (ev) => {
    const target = ev.target instanceof Element ? ev.target : null;
    const link = target && target.closest('a[href^="#src-"]');
    if (link) {
      ev.preventDefault(); ev.stopPropagation();
      show(link.getAttribute('href').slice(1));
      return;
    }
    const button = target && target.closest('button.rag-copy');
    if (button) {
      ev.preventDefault();
      const label = button.dataset.label || button.textContent;
      button.dataset.label = label;
      window.ragLastCopied = button.dataset.copy;
      copy(button.dataset.copy).then((ok) => {
        button.textContent = ok ? 'Copied \u2713' : 'Select and copy below';
        button.classList.add('rag-copied');
        setTimeout(() => { button.textContent = label; button.classList.remove('rag-copied'); }, 1800);
      });
    }
  }, true);
}
