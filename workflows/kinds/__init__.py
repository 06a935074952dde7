"""The executors of the step kinds, one module each; they see `taskagent.kinds.context`.

Which module runs which kind is declared by the kind itself (`taskagent.kinds`); the table the
engine uses is built in `workflows/executors.py`.
"""
