"""The sliding window (seed 8.3) and context scoping (seed 12.6), at their boundaries."""

from __future__ import annotations

from taskagent.conversation.context import ContextScope, ConversationContext, MessageRef, SummaryRef
from taskagent.conversation.window import MAX_KEPT_REFS, WindowPolicy, WindowState
from taskagent.llm.tokens import count_tokens


def refs(*tokens: int, start: int = 0) -> list[MessageRef]:
    roles = ("user", "assistant")
    return [
        MessageRef(seq=start + i, role=roles[(start + i) % 2], tokens=t)
        for i, t in enumerate(tokens)
    ]


def seqs(window: list[MessageRef]) -> list[int]:
    return [ref.seq for ref in window]


def test_the_first_messages_stay_and_the_recent_fill_the_budget_exactly() -> None:
    policy = WindowPolicy(keep_first=2, max_tokens=100)
    state = WindowState()
    state.add(refs(10, 10, 20, 20, 20, 20), policy)
    current = MessageRef(seq=6, role="user", tokens=10)
    # 100 - 20 (first) - 10 (current) = 70: 20 + 20 + 20 fit (60), a fourth 20 would not.
    assert seqs(state.window(policy, current)) == [0, 1, 3, 4, 5, 6]
    # One token more budget changes nothing; ten more lets the next one in, exactly.
    assert seqs(state.window(WindowPolicy(keep_first=2, max_tokens=109), current)) == [
        0,
        1,
        3,
        4,
        5,
        6,
    ]
    assert seqs(state.window(WindowPolicy(keep_first=2, max_tokens=110), current)) == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
    ]


def test_the_window_is_contiguous_a_large_message_ends_it() -> None:
    policy = WindowPolicy(keep_first=0, max_tokens=100)
    state = WindowState()
    state.add(refs(5, 5, 91, 5, 5), policy)
    # The 91-token message does not fit after 10 tokens: older ones are not skipped to.
    assert seqs(state.window(policy)) == [3, 4]


def test_the_turn_message_is_sent_even_alone_over_budget() -> None:
    policy = WindowPolicy(keep_first=1, max_tokens=50)
    state = WindowState()
    state.add(refs(10, 10), policy)
    assert seqs(state.window(policy, MessageRef(seq=2, role="user", tokens=500))) == [0, 2]


def test_a_summary_replaces_the_older_messages_and_takes_its_tokens() -> None:
    policy = WindowPolicy(keep_first=2, max_tokens=100)
    state = WindowState()
    state.add(refs(10, 10, 10, 10, 10, 10, 10, 10), policy)
    state.summarised(SummaryRef(id="s", upto=6, tokens=30), policy)
    assert seqs(state.recent) == [6, 7]
    assert seqs(state.window(policy, MessageRef(seq=8, role="user", tokens=10))) == [0, 1, 6, 7, 8]
    state.summarised(SummaryRef(id="s2", upto=8, tokens=75), policy)
    # 100 - 20 - 75 - 10 leaves no room for anything but the turn's message.
    assert seqs(state.window(policy, MessageRef(seq=8, role="user", tokens=10))) == [0, 1, 8]


def test_the_kept_references_are_bounded_at_any_length() -> None:
    policy = WindowPolicy(keep_first=2, max_tokens=1_000)
    state = WindowState()
    for start in range(0, 10_000, 2):
        state.add(refs(30, 30, start=start), policy)
    assert len(state.first) == 2
    assert sum(ref.tokens for ref in state.recent) <= policy.max_tokens
    assert seqs(state.recent)[-1] == 9_999
    tiny = WindowState()
    tiny.add(refs(*([0] * (MAX_KEPT_REFS + 100))), WindowPolicy(keep_first=0))
    assert len(tiny.recent) == MAX_KEPT_REFS


def test_scoping_keeps_the_turn_message_and_filters_the_rest() -> None:
    window = refs(1, 1, 1, 1, 1)  # seqs 0..4, the last is the turn's (a user message)
    context = ConversationContext(
        conversation_id="c", window=window, summary=SummaryRef(id="s", upto=2)
    )
    assert context.stored().seqs == [0, 1, 2, 3, 4]
    assert context.stored().summary_id == "s"
    assert context.stored(ContextScope(last=2)).seqs == [2, 3, 4]
    assert context.stored(ContextScope(last=0)).seqs == [4]
    assert context.stored(ContextScope(roles=["user"])).seqs == [0, 2, 4]
    none = context.stored(ContextScope(include=False))
    assert (none.seqs, none.summary_id) == ([4], None)
    assert ContextScope(last=10).apply(window) == window


def test_tokens_are_counted_with_a_real_tokenizer_for_openai_and_estimated_otherwise() -> None:
    exact = count_tokens("openai:gpt-4o-mini", "Hello world, how are you?")
    assert exact == (7 + 4, True)  # cl100k_base: 7 tokens, plus the message's overhead
    estimate = count_tokens("gemini:gemini-2.5-flash", "Hello world, how are you?")
    assert estimate == (7 + 4, False)  # 25 characters / 4, rounded up
    assert count_tokens(None, "x" * 400).tokens == 104
