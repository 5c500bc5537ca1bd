"""Study tables and statistics across seeds and activations, and the front page's answer."""
