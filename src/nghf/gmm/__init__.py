"""GMM-HMM systems: MFCC features, monophone/triphone training, decision trees, alignment.

See docs/design.md for the layers and where each concept lives.
"""
