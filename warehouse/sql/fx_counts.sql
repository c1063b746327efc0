SELECT inserted, changed FROM fx_counts;
