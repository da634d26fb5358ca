"""The analyst's web view (`rasid web`): browse, search and judge stories, right to left, no script."""
