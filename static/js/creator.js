// Behaviour the templates would otherwise write as inline event handlers
// (onsubmit=, onfocus=), which the Content-Security-Policy does not run.

// <form data-confirm="Delete this?">: ask before submitting.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (form.matches("form[data-confirm]") && !window.confirm(form.dataset.confirm)) {
    event.preventDefault();
  }
});

// <input data-select-on-focus>: select the whole value, ready to copy.
document.addEventListener("focusin", (event) => {
  if (event.target.matches("input[data-select-on-focus]")) {
    event.target.select();
  }
});
