"""Electronic receipts (电子回单): render the PDF, seal it (PAdES), verify it offline."""
