"""The read side's LRU: bounded by entries, and by bytes when asked."""

from search.lru import LRU


def test_least_recent_entry_goes_first():
    c = LRU(2)
    c.put("a", 1)
    c.put("b", 2)
    assert c.get("a") == 1  # now "b" is the least recent
    c.put("c", 3)
    assert c.get("b") is None and c.get("a") == 1 and c.get("c") == 3


def test_a_byte_budget_drops_entries_until_the_rest_fit():
    c = LRU(100, budget=10, weigh=len)
    c.put("a", "xxxx")
    c.put("b", "yyyy")
    assert c.weight == 8
    c.put("c", "zzzz")  # 12 > 10: "a" goes
    assert c.get("a") is None and c.weight == 8
    c.put("b", "y")  # replacing an entry counts its new weight only
    assert c.weight == 5 and len(c) == 2
    c.put("big", "w" * 11)  # alone over the budget: nothing can stay
    assert len(c) == 0 and c.weight == 0
    c.put("d", "dd")
    c.clear()
    assert len(c) == 0 and c.weight == 0
