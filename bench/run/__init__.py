"""Running a condition: planning jobs, running one job, scheduling them here or on a cluster, a run's status."""
