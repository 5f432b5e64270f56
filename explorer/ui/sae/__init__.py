"""Sparse autoencoders in the window: train one on a trace step, read its features, steer
with them (issue 29).
"""
