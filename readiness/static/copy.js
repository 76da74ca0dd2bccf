// Copy buttons: <button data-copy="ID" hidden> copies the value of the element ID.
// Without this script the button stays hidden and the value can be selected by hand.
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    if (!source || !navigator.clipboard) {
      continue;
    }
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.value);
        button.textContent = "Copied";
      } catch {
        source.select();
        button.textContent = "Press Ctrl+C to copy";
      }
    });
  }
});
