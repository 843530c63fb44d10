"""The search box's suggestions in real Chromium, against the app served by waitress.

What only a browser shows: the list htmx fills as the reader types, the
combobox's state as a screen reader would read it (`aria-expanded`,
`aria-activedescendant`, `aria-selected`), the keys that move through it and
choose from it, a click on an option, and that typing a word asks the server
once, not once per letter. Every page is watched for script errors and
Content-Security-Policy complaints. Screenshots of the open list at phone
width, light and dark, land in `tests/artifacts/` for a person to look at.
"""

from __future__ import annotations

import re

from tests.browser import ARTIFACTS, mark_document, same_document


def combobox(page) -> dict:
    """The box's ARIA state and the list's, as assistive technology reads them."""
    return page.evaluate("""() => {
        const box = document.getElementById('q');
        const list = document.getElementById(box.getAttribute('aria-controls'));
        const options = [...list.querySelectorAll('[role="option"]')];
        return {
            expanded: box.getAttribute('aria-expanded'),
            active: box.getAttribute('aria-activedescendant'),
            hidden: list.hidden,
            options: options.map(o => o.id),
            texts: options.map(o => o.querySelector('.completion-text').textContent),
            selected: options.filter(o => o.getAttribute('aria-selected') === 'true')
                             .map(o => o.id),
            focused: document.activeElement.id,
        };
    }""")


# Functions, not strings: the page's CSP forbids evaluating strings.
OPEN = "() => document.getElementById('q').getAttribute('aria-expanded') === 'true'"


def type_and_wait_for_options(page, text: str) -> dict:
    page.locator("#q").press_sequentially(text, delay=30)
    page.wait_for_function(OPEN)
    return combobox(page)


def test_typing_opens_the_list_of_suggestions(tab):
    page = tab.goto("/")
    assert combobox(page)["expanded"] == "false" and combobox(page)["hidden"]
    state = type_and_wait_for_options(page, "harb")
    assert not state["hidden"]
    assert state["texts"][0] == "harbour"
    assert 1 < len(state["options"]) <= 8
    assert state["active"] is None and state["selected"] == []
    assert state["focused"] == "q"
    assert page.locator("#q-options").is_visible()


def test_arrow_keys_move_the_active_option(tab):
    page = tab.goto("/")
    options = type_and_wait_for_options(page, "harb")["options"]
    page.keyboard.press("ArrowDown")
    state = combobox(page)
    assert state["active"] == options[0] and state["selected"] == [options[0]]
    page.keyboard.press("ArrowDown")
    state = combobox(page)
    assert state["active"] == options[1] and state["selected"] == [options[1]]
    page.keyboard.press("ArrowUp")
    state = combobox(page)
    assert state["active"] == options[0] and state["selected"] == [options[0]]
    page.keyboard.press("ArrowUp")  # from the first, round to the last
    assert combobox(page)["active"] == options[-1]
    assert combobox(page)["focused"] == "q"  # the highlight moves, the focus stays


def test_enter_goes_to_the_chosen_search_without_a_page_load(tab):
    page = tab.goto("/?tag=memo")
    mark_document(page)
    state = type_and_wait_for_options(page, "harb")
    assert state["texts"][0] == "harbour"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=harbour\b"))
    assert "tag=memo" in page.url  # the filters stay
    assert page.locator("#q").input_value() == "harbour"
    page.wait_for_function("() => document.getElementById('status').textContent.includes('res')")
    assert same_document(page)
    state = combobox(page)
    assert state["expanded"] == "false" and state["hidden"] and state["active"] is None


def test_choosing_a_tag_adds_it_and_the_search_typed_before_does_not_undo_it(tab):
    page = tab.goto("/")
    mark_document(page)
    state = type_and_wait_for_options(page, "harbour mem")
    tag = page.locator("#q-options .completion-tag").first.get_attribute("id")
    # Straight away, while the live search of "harbour mem" still waits for
    # its typing delay: that stale search must not replace the chosen one.
    for _ in range(state["options"].index(tag) + 1):
        page.keyboard.press("ArrowDown")
    assert combobox(page)["active"] == tag
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"tag=memo"))
    page.wait_for_timeout(500)
    assert "tag=memo" in page.url and re.search(r"[?&]q=harbour(&|$)", page.url)
    assert page.locator("#q").input_value() == "harbour"
    assert page.locator("li.chip").count() == 1
    assert same_document(page)


def test_enter_with_nothing_highlighted_searches_the_text_as_typed(tab):
    page = tab.goto("/")
    type_and_wait_for_options(page, "harb")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"[?&]q=harb(&|$)"))
    assert combobox(page)["hidden"]


def test_escape_closes_the_list_and_keeps_the_text(tab):
    page = tab.goto("/")
    type_and_wait_for_options(page, "harb")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Escape")
    state = combobox(page)
    assert state["expanded"] == "false" and state["hidden"] and state["active"] is None
    assert page.locator("#q").input_value() == "harb"
    page.keyboard.press("ArrowDown")  # the same options, open again
    state = combobox(page)
    assert state["expanded"] == "true" and state["active"] == state["options"][0]


def test_tab_and_leaving_the_box_close_the_list(tab):
    page = tab.goto("/")
    type_and_wait_for_options(page, "harb")
    page.keyboard.press("Tab")
    state = combobox(page)
    assert state["hidden"] and state["expanded"] == "false" and state["focused"] != "q"
    page.locator("#q").focus()
    page.keyboard.type("o")
    page.wait_for_function(OPEN)
    page.locator("#main").click(position={"x": 5, "y": 5})
    assert combobox(page)["hidden"]


def test_clicking_an_option_opens_it(tab):
    page = tab.goto("/")
    type_and_wait_for_options(page, "report 1")
    title = page.locator("#q-options .completion-title").first
    name = title.locator(".completion-text").inner_text()
    title.click()
    page.wait_for_url(re.compile(r"/articles/"))
    assert page.locator("h1").inner_text() == name


def test_typing_a_word_asks_once_not_once_per_letter(tab):
    page = tab.goto("/")
    page.locator("#q").press_sequentially("harbours", delay=40)  # 8 keys, 40 ms apart
    page.wait_for_timeout(600)
    # One request once typing pauses; a second only if a busy machine let
    # one gap between keys grow past the trigger's delay.
    asked = tab.requested("/complete?")
    assert 1 <= len(asked) <= 2, asked
    assert "q=harbours" in asked[-1]


def test_the_list_fits_a_phone_in_light_and_dark(open_tab):
    ARTIFACTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        tab = open_tab(viewport={"width": 360, "height": 800}, color_scheme=scheme)
        page = tab.goto("/")
        type_and_wait_for_options(page, "harb")
        page.keyboard.press("ArrowDown")
        box = page.locator("#q-options").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 360
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        colours = page.evaluate("""() => {
            const option = document.querySelector('#q-options [aria-selected="true"]');
            const style = getComputedStyle(option);
            return [getComputedStyle(document.getElementById('q-options')).backgroundColor,
                    style.backgroundColor, style.color];
        }""")
        list_bg, selected_bg, text = colours
        assert selected_bg != list_bg  # the highlighted option stands out
        dark = scheme == "dark"
        assert _luminance(list_bg) < 0.2 if dark else _luminance(list_bg) > 0.8
        # caret="initial": hiding the caret would inject a style the CSP refuses.
        page.screenshot(path=str(ARTIFACTS / f"autocomplete-360-{scheme}.png"), caret="initial")
        tab.close()
        assert text


def _luminance(css: str) -> float:
    r, g, b = (int(v) / 255 for v in re.findall(r"\d+", css)[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b
