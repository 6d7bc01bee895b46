SELECT load.step('reserve');
