"""The Mirakl connector (its code arrives with its issue); `spec/` holds the published specification it is held to."""
