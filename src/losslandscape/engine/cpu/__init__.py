"""The engine's optional CPU fast path: channels-last convolutions, in-place activations,
the inference plan, the batch-innermost pass with its C kernel, and the allocator setting."""
