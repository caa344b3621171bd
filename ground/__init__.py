"""The ground floor: domain types, configuration, series, the instance catalogue, prices and
file safety. It imports nothing else of sagetop's, so every other package may import it."""
