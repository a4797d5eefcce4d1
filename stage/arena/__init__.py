"""The listening arena: entries cut into chunks, pairwise votes in a web page, TrueSkill ratings, machine judges."""
