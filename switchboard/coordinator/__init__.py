"""The coordinator: tasks, schedules, and the loop that hands them to runners."""
