// MiniTwit's only script: the composer says how many characters are left as you type.
// Without it the page still works: the box has maxlength and says the limit in words.
(() => {
  const box = document.getElementById('text');
  const left = document.getElementById('text-left');
  if (!box || !left) return;
  const limit = Number(box.getAttribute('data-limit')) || 1000;
  const say = () => {
    const remaining = limit - Array.from(box.value).length;
    left.textContent = `${remaining.toLocaleString('en')} of ${limit.toLocaleString('en')} characters left`;
    left.classList.toggle('low', remaining < 50);
  };
  box.addEventListener('input', say);
  say();
})();
