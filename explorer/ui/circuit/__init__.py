"""The Circuit view: edge attribution's graph of heads, its faithfulness curve and the
linear estimate against exact patching (issue 28).
"""
