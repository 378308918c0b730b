"""Input pipelines: raw data to tensors, saved with every exported model so that
``seqselect predict`` takes the same raw inputs (audio files, text) the bake-off did.
"""
