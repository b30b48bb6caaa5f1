"""Console entry points (``nghf-*``): argument parsing only; the work lives in the library."""
