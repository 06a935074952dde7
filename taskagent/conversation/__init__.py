"""Conversations (the AITaskAgent seed's chat mode, section 8): contracts and the sliding window.

`context` (references to stored messages), `window` (the sliding window) and `contracts` (the
conversation workflow's inputs, state and replies) are pure modules: passed through the
workflow sandbox. The messages themselves live in the database (taskagent.store).
"""
