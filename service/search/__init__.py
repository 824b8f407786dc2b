"""Discovery: faceted geo search and suggestions over the listings index."""
