SELECT load.step('reschedule');
