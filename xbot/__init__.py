"""xbot: a learning engine and Jupyter workbench for an X account that posts gaming content.

Importing the package does no work: no connections, no logging set-up, no file access.
"""

__version__ = "0.1.0"
