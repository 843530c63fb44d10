/* The search box's suggestions, as an ARIA 1.2 combobox with a listbox popup.

   htmx fills the list (#q-options) from /complete as the reader types; the
   server renders every option and its link. This script only opens and
   closes the list, moves the highlight (aria-activedescendant: focus never
   leaves the box), and follows the option chosen. Without it the list
   never opens and the box is a plain search field.

   Keys in the box: ArrowDown / ArrowUp move through the options (opening
   the list if it has some), Enter follows the highlighted one or, with none
   highlighted, submits the text as typed; Escape closes the list (a second
   Escape clears the box, as in any search field); Tab closes it and moves
   on. A click (or tap) on an option follows it; leaving the box closes it. */
(function () {
  "use strict";

  var BOX = "q";
  var LIST = "q-options";
  var FORM = "search-form";
  var REGION = "results-region";
  // Set when the reader closes the list; suggestions still on their way
  // must not open it again before the next keystroke.
  var dismissed = false;
  // Set when the reader follows an option; a search of the text as it was
  // before (still waiting for its typing delay) must not replace it.
  var followed = false;

  function box() { return document.getElementById(BOX); }
  function list() { return document.getElementById(LIST); }

  function options() {
    var l = list();
    return l ? Array.prototype.slice.call(l.querySelectorAll('[role="option"]')) : [];
  }

  function isOpen() {
    var l = list();
    return Boolean(l) && !l.hidden;
  }

  function highlighted() {
    var input = box();
    var id = input && input.getAttribute("aria-activedescendant");
    var all = options();
    for (var i = 0; i < all.length; i++) if (all[i].id === id) return i;
    return -1;
  }

  function highlight(index) {
    var input = box();
    var all = options();
    all.forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
    });
    if (!input) return;
    if (index >= 0 && all[index]) {
      input.setAttribute("aria-activedescendant", all[index].id);
      all[index].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function open() {
    var l = list();
    var input = box();
    if (!l || !input || !options().length) {
      close();
      return;
    }
    l.hidden = false;
    input.setAttribute("aria-expanded", "true");
  }

  function close() {
    var l = list();
    var input = box();
    highlight(-1);
    if (l) l.hidden = true;
    if (input) input.setAttribute("aria-expanded", "false");
  }

  function dismiss() {
    dismissed = true;
    close();
  }

  // A search is swapped into the results region when this page has one and
  // its form is live (htmx); an article, or any other page, is loaded whole.
  function follow(option) {
    var link = option.querySelector("a[href]");
    if (!link) return;
    var input = box();
    var region = document.getElementById(REGION);
    var form = document.getElementById(FORM);
    dismiss();
    followed = true;
    if (option.hasAttribute("data-in-page") && region && form && form.hasAttribute("hx-get")
        && window.htmx) {
      input.value = option.getAttribute("data-q") || "";
      // The region as the source: its own target and sync, and no form values
      // added to a URL that already holds the whole search.
      var done = window.htmx.ajax("GET", link.getAttribute("href"), {
        source: region, target: "#" + REGION, swap: "outerHTML"
      });
      // A newer search replacing this one rejects it; that is no error.
      if (done && done.catch) done.catch(function () {});
    } else {
      window.location.assign(link.href);
    }
  }

  document.addEventListener("keydown", function (event) {
    var input = box();
    if (!input || event.target !== input || event.isComposing) return;
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var all = options();
    var at = highlighted();
    switch (event.key) {
      case "ArrowDown":
        if (!all.length) return;
        event.preventDefault();
        dismissed = false;
        if (!isOpen()) {
          open();
          highlight(0);
        } else {
          highlight(at + 1 < all.length ? at + 1 : 0);
        }
        break;
      case "ArrowUp":
        if (!all.length) return;
        event.preventDefault();
        dismissed = false;
        if (!isOpen()) open();
        highlight(at > 0 ? at - 1 : all.length - 1);
        break;
      case "Enter":
        if (isOpen() && at >= 0) {
          event.preventDefault();
          follow(all[at]);
        } else {
          dismiss();  // the form submits the text as typed
        }
        break;
      case "Escape":
        if (isOpen()) {
          event.preventDefault();  // a search field would also clear its text
          dismiss();
        }
        break;
      case "Tab":
        if (isOpen()) dismiss();
        break;
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target !== box()) return;
    dismissed = false;
    followed = false;
    highlight(-1);  // what was highlighted belongs to the text before
    if (!event.target.value.trim()) close();
  });

  document.addEventListener("focusout", function (event) {
    if (event.target === box()) close();
  });

  // New options arrived: show them if the reader is still in the box and
  // has not closed the list since typing.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target !== list()) return;
    highlight(-1);
    if (!dismissed && document.activeElement === box()) open();
    else close();
  });

  // The live search of the text as it was before an option was followed
  // may still be waiting for its typing delay: it is never sent, or it
  // would replace the search chosen. (Cancelled here, before htmx announces
  // the request, so nothing waits for an answer that will not come.) The
  // next keystroke searches again.
  document.addEventListener("htmx:confirm", function (event) {
    if (followed && event.detail && event.detail.elt === box()) event.preventDefault();
  });

  // Pressing an option must not take the focus from the box (that would
  // close the list before the click lands).
  document.addEventListener("mousedown", function (event) {
    var l = list();
    if (l && l.contains(event.target)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var l = list();
    if (!l || !l.contains(event.target)) return;
    var option = event.target.closest('[role="option"]');
    if (!option) return;
    // A middle or modified click opens the link as the reader asked.
    if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    follow(option);
  });
})();
