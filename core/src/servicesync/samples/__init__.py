"""Sample data shipped with servicesync, such as the demo catalog."""
