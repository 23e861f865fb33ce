"""Neural networks: Keras-equivalent building blocks (`keras`), target networks (`targets`,
`dense`, `conv`, `classifier`) and alarm networks (`alarms`).

Import from the submodules: this package runs no code, so a job's code key (`codekeys`) covers
only the networks it really uses.
"""
