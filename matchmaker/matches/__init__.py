"""Match pages for the two parties (and curators): list, detail, and their answers to introductions."""
