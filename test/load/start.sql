SELECT load.step('start');
