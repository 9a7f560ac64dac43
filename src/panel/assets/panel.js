// ContentGate admin panel: reveal, copy, QR dialog, confirmations, rule rows, and the
// GraphiQL hand-off. Served from the binary under a CSP that allows no inline script.
"use strict";

function announce(text) {
  const region = document.getElementById("announce");
  if (region) { region.textContent = ""; setTimeout(() => { region.textContent = text; }, 50); }
}

function secretOf(button) {
  const block = button.closest(".secret");
  return block ? block.querySelector("code.full").textContent : "";
}

async function copy(button) {
  const text = secretOf(button);
  try {
    await navigator.clipboard.writeText(text);
  } catch (e) {
    // Without the clipboard API (an insecure origin), select the text for Ctrl-C.
    const full = button.closest(".secret").querySelector("code.full");
    full.hidden = false;
    const range = document.createRange();
    range.selectNodeContents(full);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    announce("Press Ctrl-C to copy the selected key");
    return;
  }
  button.textContent = "Copied ✓";
  button.classList.add("done");
  announce("Key copied to the clipboard");
  setTimeout(() => { button.textContent = "Copy"; button.classList.remove("done"); }, 2500);
}

function reveal(button) {
  const block = button.closest(".secret");
  const full = block.querySelector("code.full");
  const masked = block.querySelector("code.masked");
  const show = full.hidden;
  full.hidden = !show;
  masked.hidden = show;
  button.textContent = show ? "Hide" : "Show";
  button.setAttribute("aria-pressed", String(show));
}

function openQr(link) {
  const dialog = document.getElementById("qr-dialog");
  const image = document.getElementById("qr-image");
  image.src = link.getAttribute("href");
  dialog.showModal();
}

function addRule(button) {
  const fieldset = button.closest("fieldset");
  const body = fieldset.querySelector("tbody");
  const next = Number(body.dataset.next || "0");
  body.dataset.next = String(next + 1);
  const html = fieldset.querySelector("template").innerHTML.replaceAll("__N__", String(next));
  body.insertAdjacentHTML("beforeend", html);
  body.lastElementChild.querySelector("select").focus();
  announce("Rule added");
}

function removeRule(button) {
  const fieldset = button.closest("fieldset");
  button.closest("tr").remove();
  fieldset.querySelector("[data-add-rule]").focus();
  announce("Rule removed");
}

function handOffToGraphiql(link) {
  const handoff = { key: link.dataset.key || "", query: link.dataset.query || "" };
  sessionStorage.setItem("contentgate.graphiql", JSON.stringify(handoff));
}

document.addEventListener("click", (event) => {
  const target = event.target.closest("button, a");
  if (!target) return;
  if (target.matches("[data-copy]")) { event.preventDefault(); copy(target); }
  else if (target.matches("[data-reveal]")) { reveal(target); }
  else if (target.matches("[data-qr]")) { event.preventDefault(); openQr(target); }
  else if (target.matches("[data-add-rule]")) { addRule(target); }
  else if (target.matches("[data-remove-rule]")) { removeRule(target); }
  else if (target.matches("[data-graphiql]")) { handOffToGraphiql(target); }
});

// Forms that destroy something ask first, in a dialog the keyboard can answer.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.dataset.confirm || form.dataset.confirmed) return;
  event.preventDefault();
  const dialog = document.getElementById("confirm-dialog");
  document.getElementById("confirm-text").textContent = form.dataset.confirm;
  dialog.returnValue = "";
  dialog.addEventListener("close", () => {
    if (dialog.returnValue === "confirm") {
      form.dataset.confirmed = "1";
      form.submit();
    }
  }, { once: true });
  dialog.showModal();
  dialog.querySelector("button[value=cancel]").focus();
});
