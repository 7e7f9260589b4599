"""What a trained model's units do.

neurons.py           read every unit along a text; find units that track features
neuron_page.py       the neuron page: the text coloured by one unit, with guesses
embeddings.py        a PCA plot of the character embeddings
samples_timeline.py  the samples taken during training, in order
inside.py            ``charloom neurons``: all of the above for one run
"""
