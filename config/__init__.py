"""What to crawl, what to flag and where to store: settings, sources and keywords, validated on load."""
