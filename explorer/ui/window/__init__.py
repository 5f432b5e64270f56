"""The main window and its composition: menus, toolbars and shortcuts, the saved layout
and settings, loading models, and which tabs exist (``compose``). The only package that
knows every feature; it may import all of ``explorer.ui`` and the layers below.
"""
