"""The ground floor: domain types, configuration, series, the instance catalogue, what container
images are, prices and file safety. It imports nothing else of sagetop's, so every other package
may import it."""
