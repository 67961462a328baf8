"""The end-to-end demo that ``make demo`` runs against fake services."""
