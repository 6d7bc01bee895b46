SELECT load.step('assign');
