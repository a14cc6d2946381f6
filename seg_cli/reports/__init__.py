"""What a run leaves for people to look at: plots, report.html and the page comparing runs."""
