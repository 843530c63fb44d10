/* Archivist's own small script: keyboard shortcuts and comforts on top of
   pages that work without it. It never builds URLs or HTML from data; every
   link it follows is one the server rendered. */
(function () {
  "use strict";

  var REGION = "results-region";
  var narrow = window.matchMedia("(max-width: 56rem)");
  // The reader's last open/closed choice for the filters on a phone, kept across swaps.
  var facetsOpen = null;

  function isTyping(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  // "/" focuses the search box, as on many sites; "n" jumps to the next match.
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) return;
    if (event.key === "/") {
      var q = document.getElementById("q");
      if (q) {
        event.preventDefault();
        q.focus();
        q.select();
      }
    } else if (event.key === "n" && document.getElementById("next-match")) {
      event.preventDefault();
      nextMatch();
    }
  });

  // -- filters on a phone: collapsed by default, as the reader leaves them -------------

  function fitFacets(root) {
    var details = (root || document).querySelector("details[data-collapsible]");
    if (!details) return;
    if (!narrow.matches) {
      details.open = true;
      return;
    }
    details.open = facetsOpen === null ? false : facetsOpen;
    details.addEventListener("toggle", function () {
      if (narrow.matches) facetsOpen = details.open;
    });
  }
  narrow.addEventListener("change", function () { fitFacets(document); });

  // On a phone a chosen filter must show its results, not the panel again:
  // the panel closes and the results get focus, scrolled to if they are out
  // of sight. Without script, the panel's "Show N results" link does the same.
  var fromFacets = false;

  function showResults() {
    var region = document.getElementById(REGION);
    var results = document.getElementById("results");
    if (!region || !results) return;
    facetsOpen = false;
    var details = region.querySelector("details[data-collapsible]");
    if (details) details.open = false;
    results.focus({ preventScroll: true });
    if (region.getBoundingClientRect().top < 0) region.scrollIntoView({ block: "start" });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("[data-to-results]");
    if (!link || !narrow.matches) return;
    event.preventDefault();
    showResults();
  });

  // -- the date chart: its bars are SVG links, which htmx does not boost -----------------

  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("svg.histogram a");
    if (!link || !window.htmx || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (!document.getElementById(REGION)) return;
    event.preventDefault();
    remember(link);
    window.htmx.ajax("GET", link.getAttribute("href"), {
      source: link, target: "#" + REGION, swap: "outerHTML"
    });
  });

  // -- keep keyboard focus where it was across a swap of the results region --------------

  var focusKey = null;

  function remember(el) {
    var keyed = el && el.closest && el.closest("[data-focus]");
    focusKey = keyed ? keyed.getAttribute("data-focus") : null;
  }

  document.addEventListener("htmx:beforeRequest", function (event) {
    var active = document.activeElement;
    var region = document.getElementById(REGION);
    var source = event.detail && event.detail.elt;
    fromFacets = !!((source && source.closest && source.closest("#facets")) ||
                    (active && active.closest && active.closest("#facets")));
    if (region && active && region.contains(active)) remember(active);
    else if (!(event.detail && event.detail.elt && event.detail.elt.closest("svg.histogram"))) {
      focusKey = null;
    }
    if (region) region.setAttribute("aria-busy", "true");
  });

  document.addEventListener("htmx:afterRequest", function () {
    var region = document.getElementById(REGION);
    if (region) region.removeAttribute("aria-busy");
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var region = document.getElementById(REGION);
    // An outerHTML swap settles on the new region element, which is the event target.
    if (!region || event.target !== region) return;
    fitFacets(region);
    if (fromFacets && narrow.matches) {
      fromFacets = false;
      focusKey = null;
      showResults();
      return;
    }
    if (focusKey === null) return;
    var selector = '[data-focus="' + CSS.escape(focusKey) + '"]';
    var again = region.querySelector(selector);
    // The link that was used may be gone (a removed chip): land on the results instead.
    (again || document.getElementById("results")).focus();
    focusKey = null;
  });

  document.addEventListener("htmx:historyRestore", function () { fitFacets(document); });

  // A failed swap must not fail silently: say so in the status line.
  document.addEventListener("htmx:responseError", function () {
    var status = document.getElementById("status");
    if (status) status.textContent = "The search could not be run. Please try again.";
  });
  document.addEventListener("htmx:sendError", function () {
    var status = document.getElementById("status");
    if (status) status.textContent = "The archive could not be reached. Is the server running?";
  });

  // -- the article page: jump from one highlighted match to the next ---------------------

  var current = -1;

  function marks() {
    var body = document.getElementById("article-body");
    return body ? body.querySelectorAll("mark") : [];
  }

  function nextMatch() {
    var all = marks();
    if (!all.length) return;
    if (current >= 0 && all[current]) all[current].classList.remove("is-current");
    current = (current + 1) % all.length;
    var mark = all[current];
    mark.classList.add("is-current");
    mark.setAttribute("tabindex", "-1");
    mark.scrollIntoView({ block: "center", behavior: "smooth" });
    mark.focus({ preventScroll: true });
    var count = document.getElementById("match-count");
    if (count) count.textContent = "Match " + (current + 1) + " of " + all.length;
  }

  function setUpMatches() {
    var bar = document.getElementById("match-bar");
    if (!bar) return;
    var n = marks().length;
    if (!n) return;
    bar.hidden = false;
    document.getElementById("match-count").textContent =
      n === 1 ? "1 match" : n + " matches";
    document.getElementById("next-match").addEventListener("click", nextMatch);
  }

  function ready() {
    fitFacets(document);
    setUpMatches();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
