SELECT load.step('open');
