"""The tokenization view: a text as coloured token pieces with ids, its count against
ℓ_max, and a comparison of tokenizer kinds; and the tokenizer lab (``lab.TokenizerTab``,
the "Tokenizer" tab): the vocabulary table, BPE merges replayed, WordPiece and Unigram
steps, opening a tokenizer.json and training on a text file. May import
``explorer.ui.widgets`` and the Qt-free layers; not the other feature packages nor the window.
"""
