"""Neural-network layers written out in NumPy (CS231n-style forward/backward pairs with the
shapes in every docstring), activations, initialisation, the gradient check, normalisation
groups and BatchNorm folding, each tested against Keras/TensorFlow."""
