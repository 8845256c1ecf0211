"""newswatch: watch news feeds for the stories your rules describe, alert once."""

__version__ = "0.1.0"
