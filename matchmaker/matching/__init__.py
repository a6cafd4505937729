"""The matching engine: text pipeline, encoders, indexes, ranking and proposals."""
