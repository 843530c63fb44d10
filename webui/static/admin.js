/* The console's small script: a visible drop target for the upload form.
   Everything works without it (a file input accepts drops by itself). */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var zone = document.querySelector("[data-dropzone]");
    if (!zone) return;
    var input = zone.querySelector("input[type=file]");
    function on(event) { event.preventDefault(); zone.classList.add("is-over"); }
    function off() { zone.classList.remove("is-over"); }
    zone.addEventListener("dragenter", on);
    zone.addEventListener("dragover", on);
    zone.addEventListener("dragleave", off);
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      off();
      if (input && event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
      }
    });
  });
})();
