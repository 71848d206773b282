"""Sizes and counts computed by hand: convolution output sizes and parameters, receptive
fields, and the layer tables (shapes, parameters, multiply-adds, memory) read off Keras models."""
