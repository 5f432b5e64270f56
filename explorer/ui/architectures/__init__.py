"""The three architectures side by side: one column per model stepping by the paper's line,
the pseudocode diff and the masks (issue 30).
"""
