"""Keras builders for the course's deep CNN architectures, one module per family.

Every builder is a plain function ``build_<name>(input_shape=..., num_classes=..., ...)``
returning a functional ``keras.Model``; the same code builds the ImageNet-size model and
a small one for 28x28x1 FashionMNIST.  Blocks are small functions ``<name>_block(x, ...)``
that take and return a Keras tensor, so the lectures and assignments can show one block
at a time.
"""
