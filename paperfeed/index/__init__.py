"""Index: text preparation, embedders, and vector upkeep (pull-based: embed what is missing)."""
